"""Access keys and the tamper-evident audit log (等保二级: identification, least privilege, audit integrity)."""
