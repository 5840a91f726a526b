"""php-not-executed: PHP source served as text."""

from __future__ import annotations

from pathlib import Path

from fixtures.diagnose.recorded import with_files
from premortem.analyzers import php_not_executed
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence
from premortem.collectors.server import ApacheSite, ServerEvidence

SOURCE = "<?php\n/**\n * Front to the WordPress application.\n */\ndefine( 'WP_USE_THEMES', true );"


def answer(body: str, content_type: str, status: int = 200) -> HttpEvidence:
    return HttpEvidence(
        url="u", status=status, content_type=content_type, body=body, body_excerpt=body
    )


def test_source_served_as_text_fires_and_blames_the_missing_module() -> None:
    # Recorded: GET /index.php from an Apache without mod_php (no Content-Type at all).
    body = (Path(__file__).parent / "fixtures/diagnose/http/php-served-as-text.body").read_text()
    server = ServerEvidence(port=80, apache=ApacheSite(config_file="/etc/apache2/apache2.conf"))
    evidence = EvidenceSet(url="u", http=answer(body, ""), server=server)
    [finding] = php_not_executed.PhpNotExecuted().analyze(with_files(evidence))
    assert "secrets" in finding.message
    assert any("loads no PHP module" in q for q in finding.quoted)


def test_html_page_showing_code_does_not_fire() -> None:
    page = "<html><body><pre>&lt;?php echo 1; ?&gt;</pre><code><?php</code></body></html>"
    assert (
        php_not_executed.PhpNotExecuted().analyze(
            with_files(EvidenceSet(url="u", http=answer(page, "text/html")))
        )
        == []
    )
    assert (
        php_not_executed.PhpNotExecuted().analyze(
            with_files(EvidenceSet(url="u", http=answer(SOURCE, "text/plain", status=404)))
        )
        == []
    )


def test_nginx_block_without_fastcgi_is_named() -> None:
    from premortem.collectors.server import NginxSite

    server = ServerEvidence(port=80, nginx=NginxSite(config_file="/etc/nginx/nginx.conf"))
    evidence = EvidenceSet(url="u", http=answer(SOURCE, "application/octet-stream"), server=server)
    [finding] = php_not_executed.PhpNotExecuted().analyze(with_files(evidence))
    assert any("no fastcgi_pass" in q for q in finding.quoted)
