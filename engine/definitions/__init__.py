"""What a flow is: parsing, validating and describing uploaded BPMN (specs, not instances)."""
