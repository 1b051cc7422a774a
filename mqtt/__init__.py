"""The MQTT contract (topic tree, payload schemas) and the client every component uses."""
