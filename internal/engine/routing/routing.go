// Package routing builds each environment's traffic router on AWS: an ALB
// router with an Elastic Load Balancing client in the region named by the
// environment's ARNs, or a Route 53 router. Routers are kept per environment
// (they remember the rule they own) until the environment's routing changes.
package routing

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/model"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/alb"
	"github.com/progressive-delivery/terraform-provider-progressive/internal/engine/traffic/route53"
)

// AWS is a traffic.Source over one AWS configuration.
type AWS struct {
	Config    aws.Config
	ClusterID string

	mu      sync.Mutex
	elb     map[string]*elbv2.Client // by region
	r53     *r53.Client
	routers map[string]cached
}

type cached struct {
	config any
	router traffic.Router
}

var _ traffic.Source = (*AWS)(nil)

// For returns the router of an environment.
func (a *AWS) For(project string, env model.EnvironmentSpec) (traffic.Router, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.routers == nil {
		a.routers = map[string]cached{}
		a.elb = map[string]*elbv2.Client{}
	}
	key := project + "/" + env.Name
	switch {
	case env.ALB != nil:
		cfg := alb.ConfigFor(a.ClusterID, project, &env)
		if c, ok := a.routers[key]; ok && reflect.DeepEqual(c.config, cfg) {
			return c.router, nil
		}
		r := alb.New(a.elbFor(cfg.Region()), cfg)
		a.routers[key] = cached{cfg, r}
		return r, nil
	case env.Route53 != nil:
		cfg := route53.ConfigFor(&env)
		if c, ok := a.routers[key]; ok && reflect.DeepEqual(c.config, cfg) {
			return c.router, nil
		}
		if a.r53 == nil {
			a.r53 = route53.NewClient(a.Config)
		}
		r := route53.New(a.r53, cfg)
		a.routers[key] = cached{cfg, r}
		return r, nil
	}
	return nil, fmt.Errorf("environment %q has neither alb nor route53", env.Name)
}

// elbFor returns the ELBv2 client of region; a.mu is held.
func (a *AWS) elbFor(region string) *elbv2.Client {
	client, ok := a.elb[region]
	if !ok {
		awsCfg := a.Config.Copy()
		if region != "" {
			awsCfg.Region = region
		}
		client = alb.NewClient(awsCfg)
		a.elb[region] = client
	}
	return client
}

// Previews returns the router of dark launches' preview rules on the
// listener's region.
func (a *AWS) Previews(listenerARN string) alb.PreviewRouter {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.elb == nil {
		a.routers = map[string]cached{}
		a.elb = map[string]*elbv2.Client{}
	}
	return alb.PreviewRouter{API: a.elbFor(alb.Config{ListenerARN: listenerARN}.Region())}
}

// Unconfigured is the source used without AWS configuration: every
// environment's routing fails with an error that says what to set.
type Unconfigured struct{ Err error }

// For reports that AWS is not configured.
func (u Unconfigured) For(string, model.EnvironmentSpec) (traffic.Router, error) {
	return nil, fmt.Errorf("the engine has no AWS configuration: set AWS_REGION and credentials the standard SDK way: %w", u.Err)
}

// Missing reports whether err says that routing objects a router reads are
// not on AWS (the engine's rule or records, or what they live in): a
// weight write recreates the engine's own, under the same ownership checks
// as Ensure.
func Missing(err error) bool {
	return errors.Is(err, alb.ErrNotFound) || errors.Is(err, route53.ErrNotFound)
}
