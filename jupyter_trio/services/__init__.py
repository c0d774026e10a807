"""The service layer: what every API dialect calls. Handlers parse and serialize, services act."""
