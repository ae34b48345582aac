"""The site simulator: objects, sensor models and scenario files, producing skybench/1 and wire formats."""
