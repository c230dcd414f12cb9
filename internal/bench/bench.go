package bench

import (
	"context"
	"fmt"
	"io"
)

// Run runs cfg's scenario and returns its summary. Cancelling ctx ends the
// run early: the summary then covers what ran and has Interrupted set,
// and the error is nil. An error means the run could not do what it was
// for (bad configuration, no server); the summary, when not nil, still
// says how far it got.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		// The progress line and notes (from readers whose stream ended)
		// come from several goroutines.
		cfg.Progress = &lockedWriter{w: cfg.Progress}
	}
	sum := &Summary{Scenario: cfg.Scenario, Nodes: len(cfg.targets()), ClientTransport: cfg.Transport}
	if cfg.Driver != nil {
		sum.ClientTransport = cfg.Driver.Name()
	}
	sum.setDeliveries(0, 0, 0, 0, 0) // what a run that never published reports
	var err error
	switch cfg.Scenario {
	case ScenarioFanout:
		err = runFanout(ctx, cfg, sum)
	case ScenarioRooms:
		err = runRooms(ctx, cfg, sum)
	case ScenarioIdle:
		err = runIdle(ctx, cfg, sum)
	case ScenarioChurn:
		err = runChurn(ctx, cfg, sum)
	default:
		return nil, fmt.Errorf("unknown scenario %q", cfg.Scenario) // validate refuses it first
	}
	sum.Interrupted = ctx.Err() != nil
	return sum, err
}

// RunTo runs cfg's scenario as Run does and writes its summary to out as
// one JSON line, also when the run ended in an error part way.
func RunTo(ctx context.Context, cfg Config, out io.Writer) error {
	sum, err := Run(ctx, cfg)
	if sum != nil {
		if werr := sum.WriteJSON(out); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
