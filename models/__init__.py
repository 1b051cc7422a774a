"""Face model packs and the face identification pipeline."""
