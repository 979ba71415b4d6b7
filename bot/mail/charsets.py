"""Charset labels as real mail uses them: which ones lie, and what to try instead."""

from __future__ import annotations

# Western single-byte charsets that Nordic senders declare while actually
# writing UTF-8 (and vice versa); for these, valid UTF-8 wins.
_WESTERN_8BIT = frozenset(
    {
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "latin-1",
        "latin1",
        "iso-8859-15",
        "cp1252",
        "windows-1252",
    }
)

_CP50221 = "x-cp50221"  # Microsoft's ISO-2022-JP with NEC/IBM extensions; decoded below

# Labels whose charset Python decodes too narrowly (or not at all), mapped to the
# supersets or siblings real mail actually uses, in the order to try them.
_CHARSET_FALLBACKS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "gb2312",
            "gb_2312-80",
            "gb_2312",
            "euc-cn",
            "x-euc-cn",
            "gbk",
            "x-gbk",
            "cp936",
            "chinese",
            "csgb2312",
        ),
        ("gb18030",),
    ),
    **dict.fromkeys(
        ("iso-2022-jp", "csiso2022jp", "iso2022jp", "iso-2022-jp-1"),
        ("iso2022_jp_2", "iso2022_jp_ext", _CP50221, "iso2022_jp_2004"),
    ),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis"),
        ("cp932", "shift_jis_2004"),
    ),
    **dict.fromkeys(("euc-jp", "x-euc-jp", "cseucpkdfmtjapanese"), ("euc_jis_2004", "cp932")),
    **dict.fromkeys(
        (
            "ks_c_5601-1987",
            "ks_c_5601",
            "ksc5601",
            "ks_c_5601-1989",
            "euc-kr",
            "korean",
            "cseuckr",
            "iso-2022-kr",
        ),
        ("cp949",),
    ),
    **dict.fromkeys(("big5", "big-5", "x-big5", "csbig5"), ("big5hkscs", "cp950")),
    **dict.fromkeys(
        (
            "iso-8859-1",
            "iso8859-1",
            "latin-1",
            "latin1",
            "l1",
            "us-ascii",
            "ascii",
            "iso-8859-15",
            "iso8859-15",
        ),
        ("cp1252",),
    ),
    **dict.fromkeys(("iso-8859-8-i", "iso-8859-8-e"), ("iso-8859-8",)),
    **dict.fromkeys(("tis-620", "iso-8859-11", "windows-874"), ("cp874",)),
    "unicode-1-1-utf-7": ("utf-7",),
    "x-mac-roman": ("mac_roman",),
}
