"""The floor for the page benchmark: the least a real page of this stack can do.

One Flask page that runs one indexed 50-row ORM query (people by surname, from the same
database the product uses) and renders a 50-row template. gunicorn serves it exactly as it
serves the product, so the product's pages are reported as a share of this.
"""

from __future__ import annotations

import os

from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Person(db.Model):  # type: ignore[name-defined]
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    employee_number: Mapped[str] = mapped_column(String(32))


PAGE = """<!doctype html><html><head><title>Floor</title></head><body><table>
{% for p in people %}<tr><td>{{ p.employee_number }}</td><td>{{ p.first_name }}</td>
<td>{{ p.last_name }}</td></tr>{% endfor %}</table></body></html>"""


def create_floor_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    db.init_app(app)

    @app.route("/floor")
    def floor():
        people = db.session.scalars(
            select(Person).order_by(Person.last_name, Person.first_name, Person.id).limit(50)
        ).all()
        return render_template_string(PAGE, people=people)

    return app


app = create_floor_app()
