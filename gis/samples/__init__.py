"""评价样本点位: the fourteen kinds of sample points, seeded draws, assignments and check-ins (issue 16)."""
