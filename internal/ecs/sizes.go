package ecs

import (
	"strconv"
	"strings"
)

// Task-level cpu and memory come as strings: CPU units ("512") or vCPUs
// ("0.5 vCPU"), MiB ("1024") or GB ("1GB"). ECS normalises them to integers
// at registration and reports the integer strings back.

// parseCPU returns the CPU units a task cpu value stands for.
func parseCPU(v string) (int, bool) {
	s := strings.ToLower(strings.TrimSpace(v))
	if n, ok := strings.CutSuffix(s, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil || f <= 0 {
			return 0, false
		}
		units := f * 1024
		if units != float64(int(units)) {
			return 0, false
		}
		return int(units), true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// parseMemory returns the MiB a task memory value stands for.
func parseMemory(v string) (int, bool) {
	s := strings.ToLower(strings.TrimSpace(v))
	if n, ok := strings.CutSuffix(s, "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil || f <= 0 {
			return 0, false
		}
		mib := f * 1024
		if mib != float64(int(mib)) {
			return 0, false
		}
		return int(mib), true
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, "mib"))
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// fargateMemory lists, per Fargate cpu value, the memory range and step.
var fargateMemory = map[int]struct{ min, max, step int }{
	256:   {512, 2048, 0}, // 512, 1024, 2048
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// fargateSizeValid reports whether cpu units and memory MiB are a
// combination Fargate offers.
func fargateSizeValid(cpu, memory int) bool {
	r, ok := fargateMemory[cpu]
	if !ok {
		return false
	}
	if r.step == 0 {
		return memory == 512 || memory == 1024 || memory == 2048
	}
	return memory >= r.min && memory <= r.max && (memory-r.min)%r.step == 0
}

// errFargateSize is ECS's answer to a cpu/memory pair Fargate does not offer.
func errFargateSize(cpu, memory int) error {
	return clientError("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, memory)
}
