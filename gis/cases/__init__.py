"""Case engines that are not import/export: similar cases (相似案件提示)."""
