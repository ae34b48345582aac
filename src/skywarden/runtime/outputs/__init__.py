"""Where alerts and the fused picture go: web hooks, MQTT, TAK, SAPIENT peers."""
