"""Every surface at once (pick classes by name on the command line, e.g. ``StreamingUser RestUser``).

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8088 --headless -u 20 -r 20 --run-time 30s \
        --csv reports/run --html reports/run.html --thresholds loadtests/thresholds.json
"""

from loadtests.users import BulkExportUser, BulkImportUser, GlobalServiceUser, MuxUser, RestUser, StreamingUser

__all__ = ["BulkExportUser", "BulkImportUser", "GlobalServiceUser", "MuxUser", "RestUser", "StreamingUser"]
