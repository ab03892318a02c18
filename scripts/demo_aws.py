"""AWS side of `make demo`, against the local emulator at AWS_ENDPOINT_URL.

  demo_aws.py seed OUT.json        create a demo ALB, two target groups with a
                                   registered target each, and two alarms;
                                   write their ARNs/names as tofu variables
  demo_aws.py fire ENDPOINT TOKEN ALARM
                                   wait until checkout's release bakes stage 2,
                                   then set ALARM to the ALARM state
"""
import json
import sys
import time
import urllib.request

import boto3


def seed(out):
    ec2 = boto3.client("ec2")
    elb = boto3.client("elbv2")
    cw = boto3.client("cloudwatch")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    lb = elb.create_load_balancer(Name="checkout-demo", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    tgs = {}
    for slot in ("blue", "green"):
        tg = elb.create_target_group(Name=f"checkout-{slot}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
        tgs[slot] = tg["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tgs[slot], Targets=[{"Id": "10.0.1.10" if slot == "blue" else "10.0.1.20"}])
    listener = elb.create_listener(
        LoadBalancerArn=lb, Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}],
    )["Listeners"][0]["ListenerArn"]
    alarms = ["checkout-5xx", "checkout-p99-latency"]
    for name in alarms:
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
                            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10,
                            ComparisonOperator="GreaterThanThreshold")
    with open(out, "w") as f:
        json.dump({"listener_arn": listener, "blue_target_group_arn": tgs["blue"],
                   "green_target_group_arn": tgs["green"], "alarm_names": alarms}, f, indent=2)
    print(f"    ALB listener {listener}")
    print(f"    target groups checkout-blue, checkout-green; alarms {', '.join(alarms)}")


def fire(endpoint, token, alarm):
    url = endpoint + "/v1/projects/checkout/environments/checkout/release"
    deadline = time.time() + 300
    while time.time() < deadline:
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
        try:
            cur = json.load(urllib.request.urlopen(req, timeout=5)).get("current") or {}
        except Exception:
            cur = {}
        if cur.get("trigger") == "v3" and cur.get("stage_index") == 1 and cur.get("phase") == "baking" \
                and cur.get("baked", "0s") not in ("0s",):
            break
        time.sleep(0.5)
    else:
        sys.exit("demo: the release never reached stage 2")
    time.sleep(3)
    boto3.client("cloudwatch").set_alarm_state(AlarmName=alarm, StateValue="ALARM",
                                               StateReason="demo: 5xx errors above 10 a minute")


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(sys.argv[2])
    elif sys.argv[1] == "fire":
        fire(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
