"""Reading an HR export, as it comes, into a plain table of strings.

Copes with what real exports look like: CSV in UTF-8 with or without a byte-order mark or in
Windows-1252/Latin-1; comma, semicolon, tab or pipe delimiters (sniffed); quoted fields;
XLSX with real dates and numbers stored as numbers; trailing blank rows and columns; header
names in any case and spacing. Everything is read as text, so employee numbers keep their
leading zeros. A file that is not a table gets one clear message (BadFile).

Hostile or oversized files are refused before they can cost memory or minutes: an XLSX's zip
is checked (entries, unpacked size, how far it shrank) before anything is unpacked, read in
read-only (streaming) mode without trusting its declared dimension, and every format is
capped at MAX_ROWS rows and MAX_COLUMNS columns.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree.ElementTree import ParseError

import openpyxl
import pandas as pd

#: Files larger than this are refused before parsing.
MAX_IMPORT_BYTES = 10 * 1024 * 1024
#: Caps for every format, checked before or while reading, never after.
MAX_ROWS = 200_000
MAX_COLUMNS = 200
#: An XLSX is a zip: what it unpacks to, and how much it shrank, are checked before parsing.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 100  # real sheets shrink 5-20 times; a bomb of repeated cells, hundreds of times
RATIO_FROM_BYTES = 8 * 1024 * 1024  # small files may shrink a lot; they are harmless
MAX_SHEETS = 50
MAX_ZIP_ENTRIES = 1000
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls


class BadFile(Exception):
    """The upload cannot be read as a staff table; the message says why, for the admin."""


@dataclass(frozen=True)
class Table:
    headers: list[str]  # as written in the file, trimmed
    rows: list[list[str]]  # cleaned cell text, one list per data row, same width as headers
    row_numbers: list[int]  # the spreadsheet row number of each data row (header is row 1)
    encoding: str
    delimiter: str | None


def read_table(data: bytes, filename: str = "") -> Table:
    if len(data) > MAX_IMPORT_BYTES:
        raise BadFile(
            f"The file is over the {MAX_IMPORT_BYTES // 1_048_576} MB size limit. "
            "Split it or export fewer columns."
        )
    if not data.strip():
        raise BadFile("The file is empty.")
    if data.startswith(OLE_MAGIC):
        raise BadFile(
            "This is an old-style Excel (.xls) file. Save it as .xlsx or CSV and upload that."
        )
    if data.startswith(XLSX_MAGIC):
        frame, encoding, delimiter = _read_xlsx(data), "xlsx", None
    else:
        text, encoding = _decode(data)
        _check_csv_size(text)
        delimiter = _sniff(text)
        frame = _read_csv(text, delimiter)
    return _to_table(frame, encoding, delimiter)


def _decode(data: bytes) -> tuple[str, str]:
    sample = data[:65536]
    if b"\x00" in sample:
        if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                return data.decode("utf-16"), "utf-16"
            except UnicodeDecodeError:
                pass
        raise BadFile("This file is not a CSV or Excel table (it contains binary data).")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "latin-1" or _mostly_printable(text):
            return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise BadFile("This file is not a CSV or Excel table (its text cannot be read).")


def _mostly_printable(text: str) -> bool:
    sample = text[:5000]
    bad = sum(1 for c in sample if not (c.isprintable() or c in "\r\n\t"))
    return bad <= len(sample) * 0.01


def _sniff(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()][:50]
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"} if lines else {}
        best = max(counts, key=lambda d: counts[d]) if counts else ","
        return best if counts.get(best) else ","


def _check_csv_size(text: str) -> None:
    """Refuse a CSV with too many rows or columns before it is sniffed or parsed."""
    lines = 0
    for line in io.StringIO(text):
        if line.strip():
            lines += 1
            if lines == 1 and max(line.count(d) for d in ",;\t|") >= MAX_COLUMNS:
                raise BadFile(_too_many_columns())
    if lines > MAX_ROWS + 1:
        raise BadFile(_too_many_rows())


def _too_many_rows() -> str:
    return f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."


def _too_many_columns() -> str:
    return (
        f"The file has more than {MAX_COLUMNS} columns. Export only the columns the staff "
        "import needs (employee number, names, email, department, job title, manager, status)."
    )


def _read_csv(text: str, delimiter: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            header=None,
            skip_blank_lines=False,
            engine="c",
            on_bad_lines="error",
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        raise BadFile(
            f"The file could not be read as a table: {_first_line(exc)}. Check that "
            "every row has the same columns and quotes are closed."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise BadFile("The file is empty.") from exc


def _read_xlsx(data: bytes) -> pd.DataFrame:
    """The first sheet, read in read-only (streaming) mode after the zip and the sheet's
    declared size are checked; rows and columns are capped while reading."""
    _check_xlsx_zip(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, ParseError) as exc:
        raise BadFile(
            "This file looks like Excel but could not be opened. Re-save it as .xlsx or CSV."
        ) from exc
    try:
        if len(book.sheetnames) > MAX_SHEETS:
            raise BadFile(
                f"The workbook has more than {MAX_SHEETS} sheets. Save the staff sheet on its own."
            )
        sheet = book.worksheets[0]
        if (sheet.max_row or 0) > MAX_ROWS + 1:
            raise BadFile(_too_many_rows())
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise BadFile(_too_many_columns())
        # The declared dimension may lie, so it is not used: each row is as wide as its last
        # cell, and rows and columns are counted as they stream past.
        sheet.reset_dimensions()
        rows: list[tuple] = []
        width = 0
        for row in sheet.iter_rows(values_only=True):
            if len(rows) > MAX_ROWS:
                raise BadFile(_too_many_rows())
            if len(row) > MAX_COLUMNS:
                raise BadFile(_too_many_columns())
            width = max(width, len(row))
            rows.append(row)
    except (KeyError, ValueError, OSError, TypeError, ParseError) as exc:
        raise BadFile(
            "This file looks like Excel but could not be opened. Re-save it as .xlsx or CSV."
        ) from exc
    finally:
        book.close()
    return pd.DataFrame([(*row, *([None] * (width - len(row)))) for row in rows], dtype=object)


def _check_xlsx_zip(data: bytes) -> None:
    """Refuse a zip bomb before anything is unpacked: too many entries, too big unpacked, or
    shrunk far more than real spreadsheets do."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BadFile(
            "This file looks like Excel but could not be opened. Re-save it as .xlsx or CSV."
        ) from exc
    unpacked = sum(e.file_size for e in entries)
    too_big = unpacked > MAX_UNPACKED_BYTES
    shrunk = unpacked > RATIO_FROM_BYTES and unpacked > MAX_RATIO * len(data)
    if len(entries) > MAX_ZIP_ENTRIES or too_big or shrunk:
        raise BadFile(
            f"This Excel file unpacks to {unpacked // 1_048_576:,} MB, far more than a staff "
            "list does; it was refused unread. Export the staff list again, or as CSV."
        )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def cell_text(value) -> str:
    """Excel and pandas values as the text a person would type."""
    if type(value) is str:  # every CSV cell: the common case first
        return " ".join(value.split())  # str.split() also splits on no-break spaces
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return (
            value.date().isoformat()
            if value.time() == datetime.min.time()
            else value.isoformat(sep=" ")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return cell_text(value.to_pydatetime())
    return " ".join(str(value).replace("\xa0", " ").split())


def _to_table(frame: pd.DataFrame, encoding: str, delimiter: str | None) -> Table:
    values = [[cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    numbered = [(i + 1, row) for i, row in enumerate(values) if any(row)]
    if not numbered:
        raise BadFile("The file has no rows.")
    header_number, header = numbered[0]
    width = max((i + 1 for i, h in enumerate(header) if h), default=0)
    if width == 0 or sum(1 for h in header if h) < 1:
        raise BadFile("The first row must hold the column names.")
    if _looks_like_data(header[:width]):
        raise BadFile(
            "The first row looks like data, not column names. Add a header row "
            "(for example: Employee Number, First Name, Last Name, Email)."
        )
    headers = header[:width]
    rows, numbers = [], []
    for number, row in numbered[1:]:
        row = (row + [""] * width)[:width]
        if any(row):
            rows.append(row)
            numbers.append(number)
    if not rows:
        raise BadFile("The file has column names but no rows of people.")
    return Table(headers, rows, numbers, encoding, delimiter)


def _looks_like_data(header: list[str]) -> bool:
    filled = [h for h in header if h]
    numeric = sum(1 for h in filled if h.replace(".", "").replace("-", "").isdigit())
    emails = sum(1 for h in filled if "@" in h)
    return numeric + emails >= max(1, len(filled) // 2)
