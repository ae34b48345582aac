"""After an incident: the retrospective re-run, what was missed, evidence and incident links."""
