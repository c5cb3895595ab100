"""`mockgw serve` behind the command line: options -> Settings (options.py, values.py), then run.py listens."""
