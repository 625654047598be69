"""scorewatch's AWS infrastructure in CDK: one stack composing one construct per capability."""
