from app.accounts.models import Permission
from tests.factories import make_person, make_unit, make_user


def test_home_redirects_anonymous_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_signed_in_learner_sees_their_home(client, login):
    unit = make_unit("Enterprise PMO")
    user = make_user(Permission.LEARNER, person=make_person("Priya", "Shah", unit=unit))
    login(user)
    page = client.get("/")
    assert page.status_code == 200
    assert "Welcome, Priya" in page.text


def test_an_overlong_search_gets_the_products_own_page(client, login):
    from app.accounts.models import Permission
    from tests.factories import make_user

    login(make_user(Permission.ADMIN))
    response = client.get("/admin/people", query_string={"q": "x" * 5000})
    assert response.status_code == 414
    assert "Address too long" in response.text
    assert "Shorten the search" in response.text
    ok = client.get("/admin/people", query_string={"q": "x" * 200})
    assert ok.status_code == 200
