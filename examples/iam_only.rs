//! The library API: create only the IAM side of the setup guide and print the role ARNs,
//! like `kubectl hyperpod setup --iam-only`. Uses the AWS CLI's usual credentials.
//!
//!     cargo run --example iam_only -- my-hyperpod-cluster us-west-2 my-tls-bucket

use kubectl_hyperpod::setup::{Setup, SetupConfig};
use kubectl_hyperpod::Ctx;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cluster, region, bucket] = args.as_slice() else {
        eprintln!("usage: iam_only HYPERPOD_CLUSTER REGION S3_BUCKET");
        std::process::exit(2);
    };
    let ctx = Ctx::new(Some(region.clone()), std::env::var("AWS_PROFILE").ok());
    let config = SetupConfig::new(cluster, region, bucket)?;
    let roles = Setup::new(&ctx, config).configure_iam_only()?;
    println!("inference operator: {}", roles.inference_operator);
    println!(
        "load balancer controller: {}",
        roles.load_balancer_controller
    );
    println!("KEDA: {}", roles.keda);
    if let Some(s3) = roles.s3_csi {
        println!("S3 CSI driver: {s3}");
    }
    Ok(())
}
