"""Reading HR exports as they come (app.staff_import.reading) and suggesting a column mapping
(app.staff_import.mapping). Pure functions: no app, no database."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

from app.staff_import.mapping import (
    mapping_problems,
    parse_date,
    shape_key,
    split_name,
    status_active,
    suggest_mapping,
)
from app.staff_import.reading import MAX_IMPORT_BYTES, BadFile, read_table

PEOPLE = [
    ["Employee Number", "Name", "Department"],
    ["00123", "Zoë Müller", "Finance €"],
    ["00124", "Jo Smith", "IT"],
]


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    return "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"


def xlsx(rows: list[list], decorate=None) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if decorate:
        decorate(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(data: bytes, filename: str = "staff.csv") -> str:
    with pytest.raises(BadFile) as info:
        read_table(data, filename)
    return str(info.value)


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, encoding",
    [
        (csv_text(PEOPLE).encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + csv_text(PEOPLE).encode("utf-8"), "utf-8"),
        (csv_text(PEOPLE).encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252"],
)
def test_csv_encodings_are_decoded(data, encoding):
    table = read_table(data, "staff.csv")
    assert table.encoding == encoding
    # The byte-order mark never leaks into the first header.
    assert table.headers == ["Employee Number", "Name", "Department"]
    assert table.rows == [["00123", "Zoë Müller", "Finance €"], ["00124", "Jo Smith", "IT"]]
    assert table.row_numbers == [2, 3]


def test_cp1252_bytes_are_not_mistaken_for_utf8():
    data = "Staff ID,Name\n1,Zoë Müller – “Jo”\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert read_table(data).rows == [["1", "Zoë Müller – “Jo”"]]


def test_latin1_text_reads_the_same_characters():
    rows = [["Employee Number", "Name"], ["7", "Ñuñez Gómez"], ["8", "Søren Straße"]]
    data = csv_text(rows).encode("latin-1")
    assert read_table(data).rows == [["7", "Ñuñez Gómez"], ["8", "Søren Straße"]]


def test_latin1_bytes_undefined_in_cp1252_fall_back_to_latin1():
    # 0x81 has no character in Windows-1252, so only Latin-1 can decode this file; one
    # stray control byte among hundreds of rows is tolerated.
    rows = [["Employee Number", "Name"]] + [[str(n), f"Zoë Person{n}"] for n in range(200)]
    rows[1][1] = "Zoë\x81 Smith"
    table = read_table(csv_text(rows).encode("latin-1"))
    assert table.encoding == "latin-1"
    assert table.rows[0] == ["0", "Zoë\x81 Smith"]
    assert table.rows[-1] == ["199", "Zoë Person199"]


def test_text_that_is_mostly_control_bytes_is_refused():
    data = b"Employee Number,Name\n" + bytes(range(0x80, 0xA0)) * 4 + b"\n"
    assert refused(data) == "This file is not a CSV or Excel table (its text cannot be read)."


# --- delimiters and quoting -------------------------------------------------------------------


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
def test_delimiter_is_sniffed(delimiter):
    table = read_table(csv_text(PEOPLE, delimiter).encode())
    assert table.delimiter == delimiter
    assert table.headers == PEOPLE[0]
    assert table.rows == PEOPLE[1:]


def test_semicolon_file_with_commas_in_values():
    rows = [
        ["Employee Number", "Name", "Salary"],
        ["1", "Smith, Jo", "1,50"],
        ["2", "Bloggs, Al", "2,75"],
    ]
    table = read_table(csv_text(rows, ";").encode())
    assert table.delimiter == ";"
    assert table.rows == [["1", "Smith, Jo", "1,50"], ["2", "Bloggs, Al", "2,75"]]


def test_quoted_fields_keep_embedded_delimiters_quotes_and_newlines():
    data = (
        b"Employee Number,Name,Notes\r\n"
        b'1,"Smith, Jo","line one\r\nline two, still notes"\r\n'
        b'2,"Al ""Big Al"" Bloggs",plain\r\n'
    )
    table = read_table(data)
    assert table.rows == [
        ["1", "Smith, Jo", "line one line two, still notes"],
        ["2", 'Al "Big Al" Bloggs', "plain"],
    ]
    # Row numbers count records (as a spreadsheet shows them), not physical lines.
    assert table.row_numbers == [2, 3]


def test_numbers_as_text_keep_leading_zeros():
    data = b"Employee Number,Phone,Cost Centre\n00123,07700900123,0042\n000,0,1.50\n"
    assert read_table(data).rows == [["00123", "07700900123", "0042"], ["000", "0", "1.50"]]


def test_values_are_trimmed_and_inner_spaces_collapsed():
    data = "Employee Number,Name\n  00123 ,  Zoë \u00a0  Müller  \n".encode()
    assert read_table(data).rows == [["00123", "Zoë Müller"]]


def test_blank_lines_and_trailing_blank_columns_are_dropped():
    data = b"Employee Number,Name,,\n1,Jo Smith,,\n,,,\n\n2,Al Bloggs,,\n,,,\n\n\n"
    table = read_table(data)
    assert table.headers == ["Employee Number", "Name"]
    assert table.rows == [["1", "Jo Smith"], ["2", "Al Bloggs"]]
    assert table.row_numbers == [2, 5]


def test_headers_in_any_case_and_spacing_are_kept_trimmed_and_recognised():
    data = b"  EMPLOYEE   number ,first_NAME,  last   name  ,E-Mail\n1,Jo,Smith,jo@example.com\n"
    table = read_table(data)
    assert table.headers == ["EMPLOYEE number", "first_NAME", "last name", "E-Mail"]
    assert suggest_mapping(table.headers) == {
        "employee_number": "EMPLOYEE number",
        "first_name": "first_NAME",
        "last_name": "last name",
        "email": "E-Mail",
    }


def test_utf16_export_with_bom_is_read():
    data = csv_text(PEOPLE, "\t").encode("utf-16")
    table = read_table(data)
    assert table.encoding == "utf-16"
    assert table.rows == PEOPLE[1:]


# --- XLSX -----------------------------------------------------------------------------------------


def test_xlsx_dates_numbers_and_text():
    data = xlsx(
        [
            ["Employee Number", "Name", "Start Date", "Grade", "Salary", "Leaving"],
            ["00123", "Zoë Müller", datetime(2024, 3, 1), 7.0, 45250.5, None],
            [456, "Jo Smith", date(2023, 1, 2), 12, 30000.0, datetime(2025, 6, 30, 17, 45)],
        ]
    )
    table = read_table(data, "staff.xlsx")
    assert table.encoding == "xlsx" and table.delimiter is None
    assert table.rows == [
        ["00123", "Zoë Müller", "2024-03-01", "7", "45250.5", ""],
        ["456", "Jo Smith", "2023-01-02", "12", "30000", "2025-06-30 17:45:00"],
    ]


def test_xlsx_trailing_blank_rows_and_columns_are_dropped():
    def decorate(sheet):
        # Formatted but empty cells far away are how Excel leaves "used range" behind.
        sheet.cell(row=30, column=12).font = Font(bold=True)
        sheet.cell(row=25, column=9).value = ""
        sheet.cell(row=20, column=3).value = "   "

    data = xlsx(
        [
            ["Employee Number", "Name", None],
            ["1", "Jo Smith", None],
            [None, None, None],
            ["2", "Al Bloggs", None],
        ],
        decorate,
    )
    table = read_table(data, "staff.xlsx")
    assert table.headers == ["Employee Number", "Name"]
    assert table.rows == [["1", "Jo Smith"], ["2", "Al Bloggs"]]
    assert table.row_numbers == [2, 4]


def test_xlsx_header_case_and_spacing():
    data = xlsx([["  emp_ID ", "JOB   title"], [1, "PMO Analyst"]])
    table = read_table(data, "staff.xlsx")
    assert table.headers == ["emp_ID", "JOB title"]
    assert suggest_mapping(table.headers) == {"employee_number": "emp_ID", "job_title": "JOB title"}


# --- bad files: each gets one clear message -------------------------------------------------------


def test_empty_file():
    assert refused(b"") == "The file is empty."


def test_whitespace_only_file():
    assert refused(b"  \r\n\t\n   \n") == "The file is empty."


BINARY = "This file is not a CSV or Excel table (it contains binary data)."


def test_png_bytes_named_csv():
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
        b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01"
        b"\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    assert refused(png, "staff.csv") == BINARY


def test_random_bytes_with_nuls():
    rng = random.Random(3)
    noise = bytes(rng.randrange(256) for _ in range(4096))
    assert b"\x00" in noise
    assert refused(noise) == BINARY


def test_zip_that_is_not_xlsx():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("staff.csv", "Employee Number,Name\n1,Jo Smith\n")
    assert refused(out.getvalue(), "staff.xlsx") == (
        "This file looks like Excel but could not be opened. Re-save it as .xlsx or CSV."
    )


def test_truncated_xlsx():
    data = xlsx([["Employee Number", "Name"], ["1", "Jo Smith"]])
    assert refused(data[: len(data) // 2], "staff.xlsx") == (
        "This file looks like Excel but could not be opened. Re-save it as .xlsx or CSV."
    )


def test_legacy_xls():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    assert refused(ole, "staff.xls") == (
        "This is an old-style Excel (.xls) file. Save it as .xlsx or CSV and upload that."
    )


NO_HEADER = (
    "The first row looks like data, not column names. Add a header row (for example: "
    "Employee Number, First Name, Last Name, Email)."
)


def test_no_header_row_csv():
    data = b"00123,Jo,Smith,jo@example.com\n00124,Al,Bloggs,al@example.com\n"
    assert refused(data) == NO_HEADER


def test_no_header_row_xlsx():
    data = xlsx([[123, "Jo Smith", "jo@example.com"], [124, "Al Bloggs", "al@example.com"]])
    assert refused(data, "staff.xlsx") == NO_HEADER


HEADER_ONLY = "The file has column names but no rows of people."


@pytest.mark.parametrize(
    "data",
    [
        b"Employee Number,First Name,Last Name\n",
        b"Employee Number,First Name,Last Name",
        b"Employee Number,First Name,Last Name\n,,\n\n ,  ,\n",
    ],
    ids=["newline", "no-newline", "blank-rows"],
)
def test_header_only_csv(data):
    assert refused(data) == HEADER_ONLY


def test_header_only_xlsx():
    assert refused(xlsx([["Employee Number", "Name"]]), "staff.xlsx") == HEADER_ONLY


def test_empty_xlsx():
    assert refused(xlsx([]), "staff.xlsx") == "The file has no rows."


def test_unbalanced_quotes():
    data = b'Employee Number,Name\n1,"Jo Smith\n2,Al Bloggs\n'
    message = refused(data)
    assert message.startswith("The file could not be read as a table: ")
    assert message.endswith("Check that every row has the same columns and quotes are closed.")


TOO_BIG = "The file is over the 10 MB size limit. Split it or export fewer columns."


def test_file_over_the_size_limit_is_refused_before_reading():
    data = b"Employee Number,Name\n" + b"1,Jo Smith\n" * (MAX_IMPORT_BYTES // 11 + 1)
    assert len(data) > MAX_IMPORT_BYTES
    assert refused(data) == TOO_BIG


def test_file_at_the_size_limit_is_read():
    head = b"Employee Number,Notes\n"
    row = b"1," + b"x" * 997 + b"\n"  # wide rows keep the parse quick
    body = row * ((MAX_IMPORT_BYTES - len(head)) // len(row))
    data = head + body + b" " * (MAX_IMPORT_BYTES - len(head) - len(body))
    assert len(data) == MAX_IMPORT_BYTES
    assert len(read_table(data).rows) == len(body) // len(row)
    assert refused(data + b" ") == TOO_BIG  # one byte more is refused


# --- column mapping suggestions -----------------------------------------------------------------


@pytest.mark.parametrize(
    "header, field",
    [
        ("Employee Number", "employee_number"),
        ("EmployeeNumber", "employee_number"),
        ("EmpID", "employee_number"),
        ("emp_id", "employee_number"),
        ("Staff ID", "employee_number"),
        ("EMPLOYEE NO.", "employee_number"),
        ("Payroll Number", "employee_number"),
        ("Department", "org_unit"),
        ("Dept", "org_unit"),
        ("Business Unit", "org_unit"),
        ("Job Role", "job_title"),
        ("JobRole", "job_title"),
        ("Position", "job_title"),
        ("Job Title", "job_title"),
        ("job_title", "job_title"),
        ("Manager ID", "manager_id"),
        ("Line Manager No", "manager_id"),
        ("Manager Name", "manager_name"),
        ("Reports To", "manager_name"),
        ("First Name", "first_name"),
        ("Forename", "first_name"),
        ("Surname", "last_name"),
        ("Last Name", "last_name"),
        ("Name", "full_name"),
        ("Full Name", "full_name"),
        ("Work Email", "email"),
        ("E-mail Address", "email"),
        ("Employment Status", "status"),
        ("Attrition", "status"),
        ("Termination Date", "end_date"),
        ("Leaving Date", "end_date"),
    ],
)
def test_suggested_field_for_header(header, field):
    assert suggest_mapping([header]) == {field: header}


def test_suggestion_for_a_whole_export_ignores_unknown_columns():
    headers = [
        "EmpID",
        "First Name",
        "Surname",
        "Work Email",
        "Department",
        "JobRole",
        "Manager ID",
        "Manager Name",
        "Employment Status",
        "Termination Date",
        "Salary",
        "Shoe Size",
        "Hire Date",
    ]
    assert suggest_mapping(headers) == {
        "employee_number": "EmpID",
        "first_name": "First Name",
        "last_name": "Surname",
        "email": "Work Email",
        "org_unit": "Department",
        "job_title": "JobRole",
        "manager_id": "Manager ID",
        "manager_name": "Manager Name",
        "status": "Employment Status",
        "end_date": "Termination Date",
    }


def test_suggestion_uses_each_column_once_and_prefers_the_better_synonym():
    # "Employee ID" is the number, not the generic "ID"; "Manager" is the name column.
    assert suggest_mapping(["ID", "Employee ID", "Name", "Manager"]) == {
        "employee_number": "Employee ID",
        "full_name": "Name",
        "manager_name": "Manager",
    }


def test_nothing_recognised():
    assert suggest_mapping(["Colour", "Shoe Size", "Favourite Film"]) == {}


def test_mapping_problems():
    headers = ["EmpID", "Name", "Surname"]
    assert mapping_problems({"employee_number": "EmpID", "full_name": "Name"}, headers) == []
    assert mapping_problems({"full_name": "Name", "email": "Email"}, headers) == [
        "These columns are not in the file: Email",
        "Choose the column that holds the employee number.",
    ]
    assert mapping_problems({"employee_number": "EmpID", "last_name": "Surname"}, headers) == [
        "Choose a full-name column, or both first-name and last-name columns."
    ]
    assert mapping_problems({"employee_number": "EmpID", "full_name": "EmpID"}, headers) == [
        "Each column can be used for one field only."
    ]


def test_shape_key_ignores_order_case_and_spacing():
    assert shape_key(["Employee Number", "Name"]) == shape_key([" name", "EMPLOYEE  NUMBER"])
    assert shape_key(["Employee Number", "Name"]) != shape_key(["Employee Number", "Email"])


# --- cleaning values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "full, parts",
    [
        ("Jo Smith", ("Jo", "Smith")),
        ("Smith, Jo", ("Jo", "Smith")),
        ("  smith ,   Jo  ", ("Jo", "smith")),
        ("Mary Jane Watson", ("Mary Jane", "Watson")),
        ("Watson, Mary Jane", ("Mary Jane", "Watson")),
        ("de la Cruz, Ana", ("Ana", "de la Cruz")),
        ("Zoë\u00a0Müller", ("Zoë", "Müller")),
        ("Madonna", None),
        ("Smith,", None),
        (", Jo", None),
        ("   ", None),
    ],
)
def test_split_name(full, parts):
    assert split_name(full) == parts


@pytest.mark.parametrize(
    "value, header, active",
    [
        ("Active", "Status", True),
        ("ACTIVE ", "Employment Status", True),
        ("On Leave", "Status", True),
        ("Maternity leave", "Status", True),
        ("Terminated", "Status", False),
        ("Leaver", "Employment Status", False),
        ("resigned", "Status", False),
        ("No", "Current Employee", False),
        ("Yes", "Current Employee", True),
        ("Yes", "Attrition", False),  # IBM-style: attrition Yes = has left
        ("No", "Attrition", True),
        ("maybe", "Attrition", None),
        ("Seconded to Mars", "Status", None),
        ("", "Status", None),
    ],
)
def test_status_active(value, header, active):
    assert status_active(value, header) is active


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("2024-03-01", date(2024, 3, 1)),
        ("01/03/2024", date(2024, 3, 1)),
        ("1.3.2024", date(2024, 3, 1)),
        ("1 Mar 2024", date(2024, 3, 1)),
        ("2024-03-01 00:00:00", date(2024, 3, 1)),
        ("31/02/2024", None),
        ("soon", None),
    ],
)
def test_parse_date(value, parsed):
    assert parse_date(value) == parsed
