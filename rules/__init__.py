"""The central rules service: the violation regime, its store and its reports."""
