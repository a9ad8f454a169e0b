"""Hostile and oversized files (issue 8, point 11) are refused before parsing, with a plain
message, while the process's memory stays small. Each bomb is built here with zipfile.

Memory bound: tracemalloc's peak while reading stays under 64 MB for each bomb (the file
itself, up to 10 MB, is held once); before these checks the dimension bomb grew a worker to
4.6 GB.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import openpyxl
import pytest

from app.staff_import.reading import MAX_COLUMNS, MAX_ROWS, BadFile, read_table

MEMORY_BOUND = 64 * 1024 * 1024


def xlsx_with_sheet(sheet_xml: bytes | None = None, write_sheet=None, sheets: int = 1) -> bytes:
    """A real workbook from openpyxl with its first sheet's XML replaced (given whole, or
    streamed by ``write_sheet(file)`` so a huge sheet never sits in memory)."""
    book = openpyxl.Workbook()
    book.active.append(["Employee Number", "Last Name"])
    for _ in range(sheets - 1):
        book.create_sheet()
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename == "xl/worksheets/sheet1.xml" and (sheet_xml or write_sheet):
                with dst.open(item.filename, "w", force_zip64=True) as f:
                    if sheet_xml is not None:
                        f.write(sheet_xml)
                    else:
                        write_sheet(f)
            else:
                dst.writestr(item, src.read(item.filename))
    return out.getvalue()


SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def refused(data: bytes) -> str:
    """The refusal message, checking the memory it took to refuse (how long it takes is a
    benchmark's business, not a test's: bench/import_bench.py)."""
    tracemalloc.start()
    try:
        with pytest.raises(BadFile) as info:
            read_table(data, "bomb.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.0f} MB"
    return str(info.value)


def test_a_declared_dimension_of_the_whole_sheet_is_refused():
    sheet = SHEET_HEAD + (
        b'<dimension ref="A1:XFD1048576"/><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>Employee Number</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
        b"</sheetData></worksheet>"
    )
    data = xlsx_with_sheet(sheet)
    assert len(data) < 10_000
    assert (
        refused(data) == f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."
    )


def test_a_far_cell_under_a_small_declared_dimension_is_refused():
    sheet = SHEET_HEAD + (
        b'<dimension ref="A1:B2"/><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>Employee Number</t></is></c>'
        b'<c r="XFD1"><v>1</v></c></row>'
        b"</sheetData></worksheet>"
    )
    assert refused(xlsx_with_sheet(sheet)).startswith(
        f"The file has more than {MAX_COLUMNS} columns."
    )


def test_six_million_cells_are_refused_before_parsing():
    def cells(f):
        f.write(SHEET_HEAD + b"<sheetData>")
        row = b"<row>" + b"<c><v>1</v></c>" * 100 + b"</row>"
        for _ in range(60_000):  # 6,000,000 cells
            f.write(row)
        f.write(b"</sheetData></worksheet>")

    data = xlsx_with_sheet(write_sheet=cells)
    assert len(data) < 1_000_000
    assert "far more than a staff list does; it was refused unread" in refused(data)


def test_a_sheet_of_whitespace_is_refused_before_parsing():
    def spaces(f):
        f.write(SHEET_HEAD + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
        chunk = b" " * 1_048_576
        for _ in range(300):  # 300 MB of whitespace in one cell
            f.write(chunk)
        f.write(b"</t></is></c></row></sheetData></worksheet>")

    data = xlsx_with_sheet(write_sheet=spaces)
    assert len(data) < 1_000_000
    assert "unpacks to 300 MB" in refused(data)


def test_too_many_sheets_are_refused():
    assert refused(xlsx_with_sheet(sheets=60)) == (
        "The workbook has more than 50 sheets. Save the staff sheet on its own."
    )


def test_a_csv_with_a_million_columns_is_refused_before_pandas():
    data = b"Employee Number," + b"x," * 1_000_000 + b"\n1,2\n"
    assert refused(data).startswith(f"The file has more than {MAX_COLUMNS} columns.")


def test_a_csv_with_fifty_thousand_columns_is_refused():
    head = ",".join(f"c{i}" for i in range(50_000)).encode()
    assert refused(head + b"\n" + b"1," * 49_999 + b"1\n").startswith("The file has more than")


def test_a_csv_over_the_row_cap_is_refused():
    data = b"Employee Number,Last Name\n" + b"1,a\n" * (MAX_ROWS + 1)
    assert (
        refused(data) == f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."
    )


def test_a_workbook_at_the_column_cap_is_still_read():
    book = openpyxl.Workbook()
    book.active.append(["Employee Number", "Last Name"] + [f"c{i}" for i in range(MAX_COLUMNS - 2)])
    book.active.append(["E1", "Smith"] + ["x"] * (MAX_COLUMNS - 2))
    out = io.BytesIO()
    book.save(out)
    table = read_table(out.getvalue(), "wide.xlsx")
    assert len(table.headers) == MAX_COLUMNS and table.rows[0][:2] == ["E1", "Smith"]
