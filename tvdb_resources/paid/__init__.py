"""The paid services' clients, through their official SDKs, each call reserved, rate limited and settled."""
