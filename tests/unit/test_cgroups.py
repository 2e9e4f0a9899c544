"""A container's counters from cgroup files, v1 and v2, in a made-up /sys and /proc."""

import os
from pathlib import Path

from harness.cgroups import Cgroup, host_busy_seconds, parse_proc_cgroup


def test_proc_cgroup_lines_name_each_controller() -> None:
    text = "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/system.slice/docker-abc.scope\n"
    assert parse_proc_cgroup(text) == {"cpu": "/docker/abc", "cpuacct": "/docker/abc", "memory": "/docker/abc",
                                       "": "/system.slice/docker-abc.scope"}


def test_cgroup_v1_counters(tmp_path: Path) -> None:
    (tmp_path / "proc/42").mkdir(parents=True)
    (tmp_path / "proc/42/cgroup").write_text("3:cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n")
    cpu, memory = tmp_path / "sys/cpuacct/docker/abc", tmp_path / "sys/memory/docker/abc"
    cpu.mkdir(parents=True)
    memory.mkdir(parents=True)
    (cpu / "cpuacct.usage").write_text("2500000000\n")
    (memory / "memory.usage_in_bytes").write_text("300000000\n")
    (memory / "memory.stat").write_text("cache 1000\ntotal_inactive_file 100000000\n")
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    sample = Cgroup(42, root=tmp_path / "sys", proc=tmp_path / "proc").sample()
    assert (sample.cpu_seconds, sample.memory_bytes, sample.oom_kills) == (2.5, 200000000, 3)


def test_cgroup_v2_counters(tmp_path: Path) -> None:
    (tmp_path / "proc/42").mkdir(parents=True)
    (tmp_path / "proc/42/cgroup").write_text("0::/system.slice/docker-abc.scope\n")
    group = tmp_path / "sys/system.slice/docker-abc.scope"
    group.mkdir(parents=True)
    (group / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1000000\n")
    (group / "memory.current").write_text("5000\n")
    (group / "memory.stat").write_text("anon 3000\ninactive_file 1000\n")
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")
    sample = Cgroup(42, root=tmp_path / "sys", proc=tmp_path / "proc").sample()
    assert (sample.cpu_seconds, sample.memory_bytes, sample.oom_kills) == (1.5, 4000, 1)


def test_host_busy_time_leaves_out_idle_and_iowait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    hz = os.sysconf("SC_CLK_TCK")
    stat.write_text(f"cpu  {3 * hz} 0 {hz} {50 * hz} {2 * hz} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    assert host_busy_seconds(stat) == 4.0
