"""Operations: the only code that changes a host (lab, deploy, rollback, fix).

Everything outside this package reads and never writes to a site.
"""
