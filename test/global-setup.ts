// Replaced by the infrastructure provisioning (packages/testinfra).
export default async function setup(): Promise<void> {}
