"""The cheap header readings agree with ``email.policy.default``'s header registry.

:func:`bot.mail.simple_headers.read_simple` computes what the registry would
give for values of simple form; if a Python release changes how the registry
renders a header, these properties say so.
"""

from __future__ import annotations

from email import policy
from email.headerregistry import Address, AddressHeader, DateHeader

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.mail.simple_headers import REGISTRY, read_simple

_NAMES = ["Subject", "X-Mailer", "From", "To", "Reply-To", "Sender", "Cc", "Message-ID", "Date"]
_WORDS = ["Anna", "Berg", "Medborgare", "12", "Åsa", "Öberg", "O'Neil", "日本", "a-b", "#", "~x"]
_ADDRS = ["anna@example.se", "citizen1.x@example.se", "A.B@C.D", "x+y@z", "a'b@c", "#@~"]
_DATES = [
    "Tue, 3 Nov 2026 07:42:18 +0100",
    "3 Nov 2026 07:42 GMT",
    "Tue, 3 Nov 2026 07:42:18 -0000",
    "Tue, 31 Feb 2026 09:00:00 +0100",
    "yesterday",
]

_mailbox = st.one_of(
    st.sampled_from(_ADDRS),
    st.builds(
        lambda words, addr: f"{' '.join(words)} <{addr}>",
        st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3),
        st.sampled_from(_ADDRS),
    ),
)
_values = st.one_of(
    st.text(alphabet=st.sampled_from(list('<>@"()\\=?:;,[]. aqQbB-ÅöΩ\t_#1')), max_size=30),
    st.lists(_mailbox, min_size=1, max_size=3).map(", ".join),
    st.sampled_from(_ADDRS).map(lambda addr: f"<{addr}>"),
    st.sampled_from(_DATES),
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_NAMES), _values)
def test_simple_reading_is_the_registry_reading(name: str, value: str) -> None:
    value = value.strip()
    try:
        expected = policy.default.header_factory(name, value)
    except Exception as exc:
        expected_error: type[Exception] | None = type(exc)
    else:
        expected_error = None
    try:
        simple = read_simple(name, value)
    except Exception as exc:
        assert type(exc) is expected_error
        return
    if simple is None or "=?" in value:
        return  # left to the registry
    assert expected_error is None
    assert simple.text == str(expected)
    if isinstance(expected, AddressHeader):
        assert simple.addresses == tuple(
            (address.display_name or "", address.addr_spec)
            for address in expected.addresses
            if isinstance(address, Address)
        )
    if isinstance(expected, DateHeader):
        assert simple.datetime == expected.datetime


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([*_NAMES, "Content-Type", "MIME-Version"]), _values)
def test_the_caching_registry_makes_the_same_headers(name: str, value: str) -> None:
    outcomes: list[tuple[object, object, object]] = []
    for make in (REGISTRY, REGISTRY, policy.default.header_factory):
        try:
            header = make(name, value)
        except Exception as exc:
            outcomes.append((type(exc), None, None))
        else:
            outcomes.append((None, str(header), type(header).__mro__[1:]))
    assert outcomes[0] == outcomes[1] == outcomes[2]
