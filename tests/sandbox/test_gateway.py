"""The lazy doors to sandbox.access: absent means 'no auth yet', a broken module is an error."""

import sys

import pytest

from sandbox.api.gateway import module_optional


def test_a_missing_module_is_none():
    assert module_optional("sandbox.access.not_built_yet") is None


def test_a_module_whose_own_import_fails_raises(tmp_path, monkeypatch):
    (tmp_path / "sbx_broken_mod.py").write_text("import a_dependency_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        module_optional("sbx_broken_mod")
    sys.modules.pop("sbx_broken_mod", None)


@pytest.mark.django_db
def test_without_the_gate_requests_pass_unauthenticated(client, monkeypatch):
    from sandbox.api import dispatch

    monkeypatch.setattr(dispatch, "gate_module", lambda: None)
    response = client.post("/sandbox/api/contacts/", {"locationId": "loc-x", "email": "n@example.com"},
                           content_type="application/json", HTTP_VERSION="2021-07-28")
    assert response.status_code == 201
