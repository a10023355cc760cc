"""An independent S3 client (boto3) for the S3 backup-destination tests.

    s3.py setup URL                      -> creates an IAM user allowed s3:*, its access key
                                            and the bucket "backups"; prints "KEY SECRET"
                                            (four actions: the server's unauthenticated ones)
    s3.py list URL KEY SECRET PREFIX     -> one object key a line
    s3.py get URL KEY SECRET OBJECT FILE
    s3.py put URL KEY SECRET OBJECT FILE
"""
import json
import sys

import boto3
from botocore.config import Config

BUCKET = "backups"


def client(service, url, key, secret):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )


def main(argv):
    cmd, url = argv[1], argv[2]
    if cmd == "setup":
        iam = client("iam", url, "bootstrap", "bootstrap")
        iam.create_user(UserName="sekimori")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="sekimori", PolicyName="backups", PolicyDocument=json.dumps(policy))
        k = iam.create_access_key(UserName="sekimori")["AccessKey"]
        client("s3", url, "bootstrap", "bootstrap").create_bucket(Bucket=BUCKET)
        print(k["AccessKeyId"], k["SecretAccessKey"])
        return
    s3 = client("s3", url, argv[3], argv[4])
    if cmd == "list":
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=argv[5])
        for page in pages:
            for o in page.get("Contents", []):
                print(o["Key"])
    elif cmd == "get":
        s3.download_file(BUCKET, argv[5], argv[6])
    elif cmd == "put":
        s3.upload_file(argv[6], BUCKET, argv[5])
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
