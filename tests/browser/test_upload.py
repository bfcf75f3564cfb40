"""A file chosen on the Run page of a multipart operation reaches the sandbox as a file and comes
back byte for byte from the address HighLevel's answer gives (Chromium, 1366 px).

Screenshots land in test-artifacts/browser/<test name>/.
"""

import json
import re
import zlib

import pytest
import requests
from django.contrib.auth.models import Permission

from integrations.models import Job, SyncLog
from tests.e2e.conftest import location_connect, sandbox_world  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def png(width=3, height=2):
    """A real (tiny) PNG, so the bytes that come back can be compared exactly."""

    def chunk(kind, data):
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    rows = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_a_file_uploaded_from_the_run_page_is_stored_and_served_by_the_sandbox(
    wide,
    steps,
    sandbox_world,  # noqa: F811 - the fixture imported above
    role_users,
    tmp_path,
    settings,
):
    settings.SYNC_LOG_BODY_SAMPLE = 1  # keep the successful upload's bodies: they name the part
    world = sandbox_world
    connection = location_connect(world, "demo-loc-0001")
    world.locations["demo-loc-0001"].staff.add(role_users["staff"])
    # An upload is a write beyond the flows': a superuser grants it to this staff member.
    role_users["staff"].user_permissions.add(
        Permission.objects.get(
            codename="send_write_operations", content_type__app_label="integrations"
        )
    )
    picture = tmp_path / "logo.png"
    picture.write_bytes(png())

    page = wide("staffer")
    page.goto("/admin/catalog/operations/run/?op=POST+/medias/upload-file")
    page.select_option("select[name=connection]", str(connection.pk))
    page.set_input_files("input[type=file][name=file__file]", str(picture))
    page.uncheck("input[name=dry_run]")
    steps.shot(page, "run form with a file chosen")
    page.click("#run-form input[type=submit]")
    page.wait_for_selector("#run-result")
    steps.shot(page, "run result")
    result = page.inner_text("#run-result")
    assert re.search(r"Sent: status 20[01]", result), result

    answer = json.loads(result[result.index("{", result.index("Answer")) :].split("\n}")[0] + "\n}")
    assert answer["fileId"] and answer["url"].endswith(answer["fileId"])
    served = requests.get(answer["url"], timeout=20)
    assert served.status_code == 200
    assert served.content == picture.read_bytes()
    assert served.headers["Content-Type"].startswith("image/png")
    # The job keeps the file's description, never its bytes; the sync log names the part.
    job = Job.objects.get(kind="action", operation="POST /medias/upload-file")
    assert job.params["body"]["file"] == f"<file logo.png ({len(png())} bytes, image/png)>"
    log = SyncLog.objects.get(connection=connection, job_id=job.pk)
    assert "logo.png" in log.request_summary
