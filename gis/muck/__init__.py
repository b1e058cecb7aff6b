"""建筑垃圾/渣土: construction-waste sites, muck-truck permits and the fences that raise their alarms."""
