"""Spec §5: POST /password-check {password, user_id?} -> {ok, reasons, strength_bits}."""
from conftest import SNAKE, assert_error_json, strong_password


def check(c, body):
    r = c.post("password-check", body)
    assert r.status == 200, r
    j = r.json
    assert set(j) >= {"ok", "reasons", "strength_bits"}, j
    assert isinstance(j["ok"], bool) and isinstance(j["reasons"], list)
    assert isinstance(j["strength_bits"], (int, float))
    assert all(isinstance(x, str) and SNAKE.match(x) for x in j["reasons"]), j
    assert j["ok"] == (j["reasons"] == []), j
    return j


def test_password_check(server, admin):
    anon = server.client()
    strong = check(anon, {"password": strong_password()})
    assert strong["ok"] is True and strong["strength_bits"] >= 30, strong
    short = check(anon, {"password": "Ab1!"})
    assert short["ok"] is False
    weak = check(anon, {"password": "passwordpassword"})
    assert weak["ok"] is False and weak["strength_bits"] < 30, weak
    long_ = check(anon, {"password": "x" * 257})
    assert long_["ok"] is False
    assert set(short["reasons"]) != set(long_["reasons"]), "too short and too long share a code"
    # context words of the user: username, email local part, display-name words (Turkish i)
    uid = admin.create_user("yildiz", display_name="Işıl Yıldırım", email="isil.y@example.org",
                            password=strong_password()).json["user"]["id"]
    base = strong_password()
    for pw in ("yildiz" + base, "ISIL.Y" + base, base + "IŞIL", base + "işil"):
        j = check(admin, {"password": pw, "user_id": uid})
        assert j["ok"] is False, "%r should be refused for the user's context" % pw
    assert check(admin, {"password": base, "user_id": uid})["ok"] is True
    # code points, not bytes: 12 CJK characters pass the length rule
    cjk = check(anon, {"password": "龍虎鳳凰麒麟龜蛇鶴鹿熊貓"})
    assert "too_short" not in cjk["reasons"] and not any("short" in x for x in cjk["reasons"]), cjk
    assert_error_json(anon.post("password-check", {"password": 5}), (400, 422))
