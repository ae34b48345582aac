"""Sensor nodes that run beside skywarden: a camera node (vision) and a microphone node (acoustic).

They turn raw video and audio into detections, and report them over SAPIENT like any other
node. Nothing here tasks anything: a node only senses and reports.
"""
