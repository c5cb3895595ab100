"""Bulk import (BULK import/<kind>) and export round trips (EXPORT export/<kind>) for every kind of --bulk-kinds.

locust -f loadtests/locustfile_bulk.py --host http://127.0.0.1:8088 --headless -u 4 -r 4 --run-time 30s
"""

from loadtests.users import BulkExportUser, BulkImportUser

__all__ = ["BulkExportUser", "BulkImportUser"]
