"""Windows event logs: EVTX records (as JSON) and Winlogbeat-style JSON -> ECS, Security and Sysmon in depth.

Importing this package registers the JSON source parser; ``collectors.files`` turns ``.evtx``
files into JSON records, so EVTX files, EVTX-as-JSON and Winlogbeat output take the same path.
"""

from __future__ import annotations

from normalizers.routing import JSON_ROUTES, JsonSourceParser
from normalizers.sources.windows.common import DEFAULT_DATASET, claims, to_event

PARSER = JSON_ROUTES.add(JsonSourceParser(DEFAULT_DATASET, claims, to_event))
