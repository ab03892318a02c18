// Package cloudwatch reads CloudWatch alarms and metrics for acceptance gates.
package cloudwatch

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// NewClient is the one place CloudWatch clients are built. Recent SDK
// clients speak Smithy RPC v2 CBOR by default; AWS also serves the Query
// protocol, and local emulators (moto) serve only Query and JSON, so every
// client speaks Query: production runs exactly what the tests run.
func NewClient(cfg aws.Config, opts ...func(*cloudwatch.Options)) *cloudwatch.Client {
	opts = append([]func(*cloudwatch.Options){func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	}}, opts...)
	return cloudwatch.NewFromConfig(cfg, opts...)
}
