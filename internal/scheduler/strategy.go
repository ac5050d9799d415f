// Package scheduler holds berth's pure placement decisions: which capacity
// provider each new task goes to, and which node runs it. Functions here see
// a snapshot handed to them and return a decision; they read no store and
// no clock, so callers commit the decision themselves (guarded by what they
// read) and tests need neither Docker nor time.
package scheduler

import (
	"errors"
	"fmt"
)

// Item is one entry of a capacity provider strategy.
type Item struct {
	Provider string
	// Base is the minimum number of tasks on this provider (at most one
	// item may set it); Weight its relative share of the tasks after the
	// base.
	Base, Weight int
}

// Errors of SplitByStrategy, for callers to turn into their API's wording.
var (
	ErrEmptyStrategy = errors.New("scheduler: empty capacity provider strategy")
	ErrMultipleBase  = errors.New("scheduler: more than one capacity provider sets a base")
	ErrZeroWeights   = errors.New("scheduler: every capacity provider has weight 0")
	ErrBadItem       = errors.New("scheduler: invalid capacity provider strategy item")
)

// SplitByStrategy decides which capacity provider each of n new tasks goes
// to, given how many tasks of the same group each provider already runs
// (existing; nil for a standalone RunTask). It returns one provider name
// per new task, in the order the tasks should be created.
//
// The arithmetic, exact and deterministic:
//  1. While the provider with a base runs fewer than base tasks, the next
//     task goes to it.
//  2. After that each task goes to the weighted provider (weight > 0) whose
//     share would be smallest once it takes the task: the lowest
//     (tasksAfterBase+1)/weight, where tasksAfterBase counts the provider's
//     tasks beyond its base. Ties go to the provider listed first.
//
// Rule 2 is D'Hondt's apportionment: after every step each provider's
// count is as close to its weighted share as whole tasks allow, so the
// first task after the base already goes to the heaviest provider (with
// the article's FARGATE base 1 weight 1 + FARGATE_SPOT weight 3, tasks 2
// and 3 go to FARGATE_SPOT and task 4 to FARGATE). Weight-0 providers get
// nothing beyond their base; a strategy whose weights are all 0 is an
// error, as in ECS, even when the base alone would cover n.
func SplitByStrategy(strategy []Item, existing map[string]int, n int) ([]string, error) {
	if len(strategy) == 0 {
		return nil, ErrEmptyStrategy
	}
	if n < 0 {
		return nil, fmt.Errorf("scheduler: negative task count %d", n)
	}
	baseItem := -1
	weighted := false
	seen := make(map[string]bool, len(strategy))
	for i, it := range strategy {
		if it.Provider == "" || it.Base < 0 || it.Weight < 0 || seen[it.Provider] {
			return nil, fmt.Errorf("%w: %q", ErrBadItem, it.Provider)
		}
		seen[it.Provider] = true
		if it.Base > 0 {
			if baseItem >= 0 {
				return nil, ErrMultipleBase
			}
			baseItem = i
		}
		if it.Weight > 0 {
			weighted = true
		}
	}
	if !weighted {
		return nil, ErrZeroWeights
	}

	counts := make([]int, len(strategy))
	for i, it := range strategy {
		counts[i] = existing[it.Provider]
	}
	out := make([]string, 0, n)
	for range n {
		pick := -1
		if baseItem >= 0 && counts[baseItem] < strategy[baseItem].Base {
			pick = baseItem
		} else {
			for i, it := range strategy {
				if it.Weight == 0 {
					continue
				}
				// (a+1)/wa < (b+1)/wb  <=>  (a+1)*wb < (b+1)*wa: integers only.
				if pick < 0 || (afterBase(strategy[i], counts[i])+1)*strategy[pick].Weight < (afterBase(strategy[pick], counts[pick])+1)*it.Weight {
					pick = i
				}
			}
		}
		counts[pick]++
		out = append(out, strategy[pick].Provider)
	}
	return out, nil
}

// afterBase is how many of count tasks lie beyond the item's base.
func afterBase(it Item, count int) int {
	return max(count-it.Base, 0)
}
