"""Differential conformance: the same client sessions against the real gateway (rig) and the mock.

cases.py     the sessions, as data
client.py    plays a session over REST or the socket and records what the client saw, with offsets
compare.py   pure: normalise two observations and say identical / differs / timing off
report.py    the JSON report and the markdown table
run.py       `mockgw diff`: rig + mock up, every case on both, the report written
"""
