"""Each Kubernetes CEL library, with the examples of its documentation (the "CEL in Kubernetes"
reference and the libraries' own doc comments in k8s.io/apiserver pkg/cel/library): every
expression is compiled for a schema-less node and evaluated; `True` rows must hold, `ERROR` rows
must be a runtime error. Where the doc comment and the code disagree the code wins, said inline."""

from __future__ import annotations

import pytest

from kvalidate.cel import compile_rule
from kvalidate.cel.compile import Compiled, CompileError
from kvalidate.cel.runtime import CELError, Meter, evaluate

ERROR = object()


def _eval(expr: str, minor: str = "1.34") -> object:
    compiled = compile_rule(expr, {"type": "object", "x-kubernetes-preserve-unknown-fields": True}, minor)
    assert isinstance(compiled, Compiled), compiled
    assert compiled.ast is not None
    meter = Meter()
    meter.start()
    result = evaluate(compiled.ast, compiled.env, {"self": {}}, meter)
    return ERROR if isinstance(result, CELError) else result


STRINGS = [
    ("'hello'.charAt(4) == 'o'", True), ("'hello'.charAt(5) == ''", True), ("'hello'.charAt(6)", ERROR),
    ("'hello mellow'.indexOf('') == 0", True), ("'hello mellow'.indexOf('ello') == 1", True),
    ("'hello mellow'.indexOf('jello') == -1", True), ("'hello mellow'.indexOf('', 2) == 2", True),
    ("'hello mellow'.indexOf('ello', 2) == 7", True), ("'hello mellow'.indexOf('ello', 20)", ERROR),
    ("'hello mellow'.lastIndexOf('') == 12", True), ("'hello mellow'.lastIndexOf('ello') == 7", True),
    ("'hello mellow'.lastIndexOf('jello') == -1", True), ("'hello mellow'.lastIndexOf('ello', 6) == 1", True),
    ("'hello mellow'.lastIndexOf('ello', -1)", ERROR),
    ("'TacoCat'.lowerAscii() == 'tacocat'", True), ("'TacoCÆt Xii'.lowerAscii() == 'tacocÆt xii'", True),
    ("'TacoCat'.upperAscii() == 'TACOCAT'", True), ("'TacoCÆt Xii'.upperAscii() == 'TACOCÆT XII'", True),
    ("'hello hello'.replace('he', 'we') == 'wello wello'", True),
    ("'hello hello'.replace('he', 'we', -1) == 'wello wello'", True),
    ("'hello hello'.replace('he', 'we', 1) == 'wello hello'", True),
    ("'hello hello'.replace('he', 'we', 0) == 'hello hello'", True),
    ("'hello hello'.split(' ') == ['hello', 'hello']", True),
    ("'hello hello hello'.split(' ', 0) == []", True),
    ("'hello hello hello'.split(' ', 1) == ['hello hello hello']", True),
    ("'hello hello hello'.split(' ', 2) == ['hello', 'hello hello']", True),
    ("'hello hello hello'.split(' ', -1) == ['hello', 'hello', 'hello']", True),
    ("'tacocat'.substring(4) == 'cat'", True), ("'tacocat'.substring(0, 4) == 'taco'", True),
    ("'tacocat'.substring(-1)", ERROR), ("'tacocat'.substring(2, 1)", ERROR),
    ("'  \\ttrim\\n    '.trim() == 'trim'", True),
    ("['hello', 'mellow'].join() == 'hellomellow'", True),
    ("['hello', 'mellow'].join(' ') == 'hello mellow'", True), ("[].join('/') == ''", True),
    ("strings.quote('single-quote with \"double quote\"') == '\"single-quote with \\\\\"double quote\\\\\"\"'",
     True),
    ("'this is a string: %s\\nand an integer: %d'.format(['str', 42]) == "
     "'this is a string: str\\nand an integer: 42'", True),
    ("'%.3f'.format([3.14159]) == '3.142'", True),
]

LISTS = [
    ("[1, 2, 3].isSorted()", True), ("['a', 'b', 'b', 'c'].isSorted()", True),
    ("[2.0, 1.0].isSorted() == false", True), ("[1].isSorted()", True), ("[].isSorted()", True),
    ("[1, 3].sum() == 4", True), ("[1.0, 3.0].sum() == 4.0", True), ("[].sum() == 0", True),
    ("[1, 3].min() == 1", True), ("[1, 3].max() == 3", True), ("[].max()", ERROR), ("[1].min() == 1", True),
    ("[1, 2, 2, 3].indexOf(2) == 1", True), ("['a', 'b', 'b', 'c'].lastIndexOf('b') == 2", True),
    ("[1.0].indexOf(1.1) == -1", True), ("[].indexOf('string') == -1", True),
    # cel-go ext.Lists v3 (Kubernetes 1.34)
    ("[1, 2, 3, 4].slice(1, 3) == [2, 3]", True), ("[1, [2, [3]]].flatten() == [1, 2, [3]]", True),
    ("[1, 2, 2, 1].distinct() == [1, 2]", True), ("[3, 1, 2].sort() == [1, 2, 3]", True),
    ("[1, 2, 3].reverse() == [3, 2, 1]", True), ("lists.range(3) == [0, 1, 2]", True),
]

REGEX = [
    ("'abc 123'.find('[0-9]+') == '123'", True), ("'abc 123'.find('xyz') == ''", True),
    # the doc comment's `findAll('[0-9]*')` rows omit Go's empty matches; `+` shows the same matches
    ("'123 abc 456'.findAll('[0-9]+') == ['123', '456']", True),
    ("'123 abc 456'.findAll('[0-9]+', 1) == ['123']", True), ("'123 abc 456'.findAll('xyz') == []", True),
    ("'123 abc'.findAll('[0-9]*') == ['123', '', '', '', '']", True),
    ("'abc'.matches('^a.c$')", True), ("'abc'.find('(')", ERROR),
]

URLS = [
    ("isURL('https://user:pass@example.com:80/path?query=val#fragment')", True),
    ("isURL('/absolute-path')", True), ("isURL('https://a:b:c/') == false", True),
    ("isURL('../relative-path') == false", True), ("url('https://a:b:c/')", ERROR),
    ("url('../relative-path')", ERROR),
    ("url('/path').getScheme() == ''", True), ("url('https://example.com/').getScheme() == 'https'", True),
    ("url('https://example.com:80/').getHost() == 'example.com:80'", True),
    ("url('https://example.com/').getHost() == 'example.com'", True),
    ("url('https://[::1]:80/').getHost() == '[::1]:80'", True), ("url('https://[::1]/').getHost() == '[::1]'", True),
    ("url('/path').getHost() == ''", True),
    ("url('https://example.com:80/').getHostname() == 'example.com'", True),
    ("url('https://127.0.0.1:80/').getHostname() == '127.0.0.1'", True),
    ("url('https://[::1]:80/').getHostname() == '::1'", True), ("url('/path').getHostname() == ''", True),
    ("url('https://example.com:80/').getPort() == '80'", True),
    ("url('https://example.com/').getPort() == ''", True), ("url('/path').getPort() == ''", True),
    ("url('https://example.com/path').getEscapedPath() == '/path'", True),
    ("url('https://example.com/path with spaces/').getEscapedPath() == '/path%20with%20spaces/'", True),
    ("url('https://example.com').getEscapedPath() == ''", True),
    ("url('https://example.com/path?k1=a&k2=b&k2=c').getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}", True),
    ("url('https://example.com/path?key with spaces=value with spaces').getQuery() == "
     "{'key with spaces': ['value with spaces']}", True),
    ("url('https://example.com/path?').getQuery() == {}", True),
    ("url('https://example.com/path').getQuery() == {}", True),
]

QUANTITY = [
    ("isQuantity('1.3G')", True), ("isQuantity('1.3Gi')", True), ("isQuantity('1,3G') == false", True),
    ("isQuantity('10000k')", True), ("isQuantity('200K') == false", True), ("isQuantity('Three') == false", True),
    ("isQuantity('Mi') == false", True), ("quantity('200K')", ERROR), ("quantity('Mi')", ERROR),
    ("quantity('50000000G').isInteger()", True), ("quantity('50k').isInteger()", True),
    ("quantity('9999999999999999999999999999999999999G').asInteger()", ERROR),
    ("quantity('9999999999999999999999999999999999999G').isInteger() == false", True),
    ("quantity('50k').asInteger() == 50000", True),
    ("quantity('50k').sub(20000).asApproximateFloat() == 30000.0", True),
    ("quantity('50k').add(quantity('20k')) == quantity('70k')", True),
    ("quantity('50k').add(20) == quantity('50020')", True),
    ("quantity('50k').sub(quantity('20k')) == quantity('30k')", True),
    ("quantity('50k').sub(20000) == quantity('30k')", True),
    ("quantity('50k').add(20).sub(quantity('100k')).sub(-50000) == quantity('20')", True),
    ("quantity('200M').compareTo(quantity('0.2G')) == 0", True),
    ("quantity('50M').compareTo(quantity('50Mi')) == -1", True),
    ("quantity('50Mi').compareTo(quantity('50M')) == 1", True),
    ("quantity('150Mi').isGreaterThan(quantity('100Mi'))", True),
    ("quantity('50Mi').isGreaterThan(quantity('100Mi')) == false", True),
    ("quantity('50M').isLessThan(quantity('100M'))", True),
    ("quantity('100M').isLessThan(quantity('50M')) == false", True),
    ("quantity('-1').sign() == -1", True), ("quantity('0').sign() == 0", True),
]

IP_CIDR = [
    ("isIP('127.0.0.1')", True), ("isIP('::1')", True), ("isIP('127.0.0.256') == false", True),
    ("isIP(':::1') == false", True), ("ip('127.0.0.256')", ERROR), ("ip(':::1')", ERROR),
    ("isIP('::ffff:1.2.3.4') == false", True), ("isIP('fe80::1%eth0') == false", True),
    ("isIP('127.0.0.01') == false", True),
    ("ip.isCanonical('127.0.0.1')", True), ("ip.isCanonical('2001:db8::abcd')", True),
    ("ip.isCanonical('2001:DB8::ABCD') == false", True), ("ip.isCanonical('2001:db8::0:0:0:abcd') == false", True),
    ("ip('127.0.0.1').family() == 4", True), ("ip('::1').family() == 6", True),
    ("ip('0.0.0.0').isUnspecified()", True), ("ip('127.0.0.1').isUnspecified() == false", True),
    ("ip('::').isUnspecified()", True), ("ip('::1').isUnspecified() == false", True),
    ("ip('127.0.0.1').isLoopback()", True), ("ip('192.168.0.1').isLoopback() == false", True),
    ("ip('::1').isLoopback()", True), ("ip('2001:db8::abcd').isLoopback() == false", True),
    ("ip('224.0.0.1').isLinkLocalMulticast()", True), ("ip('224.0.1.1').isLinkLocalMulticast() == false", True),
    ("ip('ff02::1').isLinkLocalMulticast()", True), ("ip('fd00::1').isLinkLocalMulticast() == false", True),
    ("ip('169.254.169.254').isLinkLocalUnicast()", True),
    ("ip('192.168.0.1').isLinkLocalUnicast() == false", True),
    ("ip('fe80::1').isLinkLocalUnicast()", True), ("ip('fd80::1').isLinkLocalUnicast() == false", True),
    ("ip('192.168.0.1').isGlobalUnicast()", True), ("ip('255.255.255.255').isGlobalUnicast() == false", True),
    ("ip('2001:db8::abcd').isGlobalUnicast()", True), ("ip('ff00::1').isGlobalUnicast() == false", True),
    ("isCIDR('192.168.0.0/16')", True), ("isCIDR('::1/128')", True), ("isCIDR('192.168.0.0/33') == false", True),
    ("isCIDR('::1/129') == false", True), ("cidr('192.168.0.0/33')", ERROR), ("cidr('::1/129')", ERROR),
    # the doc comment calls cidr('192.168.0.1/16') an error; parseCIDR (netip.ParsePrefix) accepts it,
    # and the doc's own masked() examples rely on that
    ("isCIDR('192.168.0.1/16')", True),
    ("cidr('192.168.0.0/24').containsIP(ip('192.168.0.1'))", True),
    ("cidr('192.168.0.0/24').containsIP(ip('192.168.1.1')) == false", True),
    ("cidr('192.168.0.0/24').containsIP('192.168.0.1')", True),
    ("cidr('192.168.0.0/24').containsIP('192.168.1.1') == false", True),
    ("cidr('192.168.0.0/16').containsCIDR(cidr('192.168.10.0/24'))", True),
    ("cidr('192.168.1.0/24').containsCIDR(cidr('192.168.2.0/24')) == false", True),
    ("cidr('192.168.0.0/16').containsCIDR('192.168.10.0/24')", True),
    ("cidr('192.168.1.0/24').containsCIDR('192.168.2.0/24') == false", True),
    ("cidr('192.168.0.1/24').ip() == ip('192.168.0.1')", True), ("cidr('192.168.0.1/24').ip().family() == 4", True),
    ("cidr('::1/128').ip() == ip('::1')", True), ("cidr('::1/128').ip().family() == 6", True),
    ("cidr('192.168.0.0/24').masked() == cidr('192.168.0.0/24')", True),
    ("cidr('192.168.0.1/24').masked() == cidr('192.168.0.0/24')", True),
    ("cidr('192.168.0.0/24') == cidr('192.168.0.0/24').masked()", True),
    ("cidr('192.168.0.1/24') == cidr('192.168.0.1/24').masked() == false", True),
    ("cidr('192.168.0.0/16').prefixLength() == 16", True), ("cidr('::1/128').prefixLength() == 128", True),
]

FORMAT = [
    ("!format.dns1123Label().validate('my-label-name').hasValue()", True),
    ("!format.dns1123Subdomain().validate('apiextensions.k8s.io').hasValue()", True),
    ("!format.dns1035Label().validate('my-label-name').hasValue()", True),
    ("!format.qualifiedName().validate('apiextensions.k8s.io/v1beta1').hasValue()", True),
    ("!format.dns1123LabelPrefix().validate('my-label-prefix-').hasValue()", True),
    ("!format.dns1123SubdomainPrefix().validate('mysubdomain.prefix.-').hasValue()", True),
    ("!format.dns1035LabelPrefix().validate('my-label-prefix-').hasValue()", True),
    ("!format.uri().validate('http://example.com').hasValue()", True),
    ("!format.uuid().validate('123e4567-e89b-12d3-a456-426614174000').hasValue()", True),
    ("!format.byte().validate('aGVsbG8=').hasValue()", True),
    ("!format.date().validate('2021-01-01').hasValue()", True),
    ("!format.datetime().validate('2021-01-01T00:00:00Z').hasValue()", True),
    ("format.dns1123Label().validate('My_Name').hasValue()", True),
    ("format.dns1123Label().validate('My_Name').value().size() == 1", True),
    ("format.named('dns1123Label').hasValue()", True), ("format.named('nope').hasValue() == false", True),
    ("format.named('labelValue').value().validate('ok').hasValue() == false", True),
]

SETS = [
    ("sets.contains([], [])", True), ("sets.contains([1, 2, 3, 4], [2, 3])", True),
    ("sets.contains([1, 2, 3], [3, 4]) == false", True),
    ("sets.equivalent([], [])", True), ("sets.equivalent([1], [1, 1])", True),
    ("sets.equivalent([1], [1.0])", True), ("sets.equivalent([1, 2, 3], [3, 2, 1])", True),
    ("sets.intersects([1], [])== false", True), ("sets.intersects([1], [1, 2])", True),
]

OPTIONAL = [
    ("optional.of(1).hasValue()", True), ("optional.none().hasValue() == false", True),
    ("optional.none().orValue(5) == 5", True), ("optional.of(2).value() == 2", True),
    ("optional.none().value()", ERROR), ("optional.ofNonZeroValue('').hasValue() == false", True),
]

SEMVER = [
    ("isSemver('1.0.0')", True), ("isSemver('1.0') == false", True),
    ("semver('1.0.0').isGreaterThan(semver('0.1.0'))", True), ("semver('1.2.3').minor() == 2", True),
    ("semver('1.0.0-alpha').compareTo(semver('1.0.0')) == -1", True),
]

STANDARD = [
    ("[1, 2, 3].all(x, x > 0)", True), ("[1, 2, 3].exists(x, x == 2)", True),
    ("[1, 2, 3].exists_one(x, x > 2)", True), ("[1, 2, 3].map(x, x * 2) == [2, 4, 6]", True),
    ("[1, 2, 3].filter(x, x > 1) == [2, 3]", True), ("[1, 2, 3].map(x, x > 1, x * 10) == [20, 30]", True),
    ("{'a': 1}.exists(k, k == 'a')", True), ("has({'a': 1}.a)", True), ("has({'a': 1}.b) == false", True),
    ("'abc'.contains('b') && 'abc'.startsWith('a') && 'abc'.endsWith('c')", True), ("1 / 0", ERROR),
    # two-variable comprehensions (cel-go ext.TwoVarComprehensions, Kubernetes 1.32)
    ("[10, 20].all(i, v, v == (i + 1) * 10)", True), ("{'a': 1, 'b': 2}.exists(k, v, k == 'b' && v == 2)", True),
]


@pytest.mark.parametrize(("expr", "want"), STRINGS + LISTS + REGEX + URLS + QUANTITY + IP_CIDR + FORMAT + SETS
                         + OPTIONAL + SEMVER + STANDARD)
def test_library_examples(expr: str, want: object) -> None:
    got = _eval(expr)
    if want is ERROR:
        assert got is ERROR, (expr, got)
    else:
        assert got is not ERROR and bool(got) is True and type(got).__name__ == "BoolType", (expr, got)


@pytest.mark.parametrize(("expr", "introduced"), [
    ("'a'.lowerAscii() == 'a'", "1.24"), ("isURL('/x')", "1.24"), ("[1].isSorted()", "1.24"),
    ("'a'.find('a') == 'a'", "1.24"), ("isQuantity('1')", "1.28"), ("optional.none().hasValue() == false", "1.28"),
    ("sets.contains([1], [1])", "1.29"), ("'%s'.format(['a']) == 'a'", "1.29"),
    ("strings.quote('a') == '\"a\"'", "1.29"), ("isIP('1.1.1.1')", "1.30"), ("isCIDR('1.1.1.0/24')", "1.30"),
    ("!format.dns1123Label().validate('a').hasValue()", "1.31"), ("isSemver('1.0.0')", "1.33"),
    ("[2, 1].sort() == [1, 2]", "1.34"),
])
def test_libraries_by_minor(expr: str, introduced: str) -> None:
    """A library is there from the minor base.go introduces it; before, its functions do not compile."""
    assert _eval(expr, introduced) is not ERROR
    major, minor = introduced.split(".")
    before = f"{major}.{int(minor) - 1}"
    if introduced != "1.24":
        got = compile_rule(expr, {"type": "object"}, before)
        assert isinstance(got, CompileError) and "undeclared reference" in got.message, (expr, before, got)


@pytest.mark.parametrize("expr", ["math.greatest(1, 2) == 2", "base64.encode(b'a') == 'YQ=='",
                                  "[1].reduce(a, b, 0, a + b) == 1"])
def test_what_no_kubernetes_minor_has_does_not_compile(expr: str) -> None:
    got = compile_rule(expr, {"type": "object"}, "1.34")
    assert isinstance(got, CompileError) and "undeclared reference" in got.message, got
