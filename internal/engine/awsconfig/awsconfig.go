// Package awsconfig loads the engine's AWS configuration the standard SDK
// way (environment, shared config and credentials files, profiles, instance
// roles). AWS_ENDPOINT_URL points every client at a local emulator.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Load reads the standard AWS configuration chain.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, fmt.Errorf("load AWS configuration (AWS_REGION, AWS_PROFILE, credentials): %w", err)
	}
	if cfg.Region == "" {
		return cfg, fmt.Errorf("no AWS region: set AWS_REGION or a region in the AWS profile")
	}
	return cfg, nil
}
