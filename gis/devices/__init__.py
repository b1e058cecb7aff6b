"""IoT devices (物联感知): readings ingest, thresholds with debouncing, device alarms, latest state."""
