"""The service edge: FastAPI REST, the WebSocket picture, and the operator console's static files."""
