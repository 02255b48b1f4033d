"""The appliance's own tools: doctor, backup, watchdog, logs, diagnostics, assets."""
