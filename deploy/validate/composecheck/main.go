// Command composecheck loads a compose file the way Docker Compose does
// (compose-go: interpolation, extension merges, the Compose JSON schema)
// and checks what deploy/compose.yaml must keep true: every chatd service
// has its own CHAT_NODE_ID and a stop_grace_period above CHAT_DRAIN_TIMEOUT
// + 5 s (shutdown takes the drain time plus about 3 s), and
// CHAT_TOKEN_SECRET is required.
//
//	composecheck deploy/compose.yaml
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	// defaultDrain is chatd's CHAT_DRAIN_TIMEOUT default.
	defaultDrain = 10 * time.Second
	// stopMargin is what the stop grace needs above the drain time.
	stopMargin = 5 * time.Second
)

func main() {
	if len(os.Args) != 2 {
		fmt.Println("usage: composecheck FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
}

func run(file string) error {
	if _, err := load(file, ""); err == nil || !strings.Contains(err.Error(), "set CHAT_TOKEN_SECRET") {
		return fmt.Errorf("without CHAT_TOKEN_SECRET the file must fail with \"set CHAT_TOKEN_SECRET\", got: %v", err)
	}
	fmt.Println("ok   without CHAT_TOKEN_SECRET: refused with \"set CHAT_TOKEN_SECRET\"")
	p, err := load(file, "composecheck-secret-0123456789")
	if err != nil {
		return err
	}
	fmt.Printf("ok   %s loads: services %s\n", file, strings.Join(p.ServiceNames(), " "))
	return checkChatd(p)
}

// load reads file with the environment plus CHAT_TOKEN_SECRET=secret (unset
// when secret is empty).
func load(file, secret string) (*types.Project, error) {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHAT_TOKEN_SECRET=") {
			env = append(env, kv)
		}
	}
	if secret != "" {
		env = append(env, "CHAT_TOKEN_SECRET="+secret)
	}
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithEnv(env), cli.WithName("chatd"))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func checkChatd(p *types.Project) error {
	nodes := map[string]string{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Environment["CHAT_REDIS_URL"] == nil {
			continue // not a chatd node
		}
		id := value(s.Environment["CHAT_NODE_ID"])
		if id == "" || nodes[id] != "" {
			return fmt.Errorf("service %s: CHAT_NODE_ID %q empty or shared with %s", name, id, nodes[id])
		}
		nodes[id] = name
		drain := defaultDrain
		if v := value(s.Environment["CHAT_DRAIN_TIMEOUT"]); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("service %s: CHAT_DRAIN_TIMEOUT: %w", name, err)
			}
			drain = d
		}
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= drain+stopMargin {
			return fmt.Errorf("service %s: stop_grace_period must exceed CHAT_DRAIN_TIMEOUT (%s) + %s", name, drain, stopMargin)
		}
		fmt.Printf("ok   %s: CHAT_NODE_ID=%s, stop_grace_period %s > CHAT_DRAIN_TIMEOUT %s + %s\n",
			name, id, time.Duration(*s.StopGracePeriod), drain, stopMargin)
	}
	if len(nodes) < 2 {
		return fmt.Errorf("expected several chatd services, found %d", len(nodes))
	}
	return nil
}

func value(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}
