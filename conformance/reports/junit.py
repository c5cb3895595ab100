"""junit.xml: one testsuite per client × profile, one testcase per case; the matrix as a property block.

fail -> <failure> (required) or <failure type="compatibility"> on a non-native profile; unsupported ->
<skipped>; informational -> passed with the reason in <system-out>.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from ..events import Report
from ..verdict import Status


def render_junit(report: Report) -> str:
    root = ET.Element("testsuites", name="mockgw conformance")
    total = failures = skipped = 0
    for client in report.clients:
        for profile in report.profiles:
            results = [r for r in report.results if r.client == client.label and r.profile == profile]
            if not results:
                continue
            suite = ET.SubElement(root, "testsuite", name=f"{client.label} @ gateway {profile}")
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="client", value=client.label)
            ET.SubElement(props, "property", name="profile", value=profile)
            ET.SubElement(props, "property", name="native", value=str(profile in client.native_profiles).lower())
            ET.SubElement(props, "property", name="matrix", value=report.cell_summary(client.label, profile))
            counts = {"tests": 0, "failures": 0, "skipped": 0}
            for r in results:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"conformance.{client.label}.{profile}",
                    name=r.test_id,
                    time=f"{r.duration_s:.3f}",
                )
                counts["tests"] += 1
                if r.status is Status.FAIL:
                    counts["failures"] += 1
                    failure = ET.SubElement(
                        case, "failure", message=r.reason, type="required" if r.required else "compatibility"
                    )
                    measured = json.dumps(r.measurements, ensure_ascii=False, default=str) if r.measurements else ""
                    failure.text = f"{r.checks}\n{r.reason}\n{measured}\n{r.stderr_tail}".strip()
                elif r.status is Status.UNSUPPORTED:
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=r.reason)
                else:
                    out = ET.SubElement(case, "system-out")
                    out.text = f"{r.status.value}: {r.reason}"
            for key, value in counts.items():
                suite.set(key, str(value))
            total += counts["tests"]
            failures += counts["failures"]
            skipped += counts["skipped"]
    matrix = ET.SubElement(root, "properties")
    for client in report.clients:
        for profile in report.profiles:
            ET.SubElement(
                matrix,
                "property",
                name=f"matrix:{client.label}:{profile}",
                value=report.cell_summary(client.label, profile),
            )
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("skipped", str(skipped))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
