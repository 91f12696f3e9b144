"""Importers: exports of other systems (access controllers, approvals, registers) into records."""
