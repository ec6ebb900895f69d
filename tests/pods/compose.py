"""docker-compose stacks (k8s-examples/compose) on the same machinery."""


def scenario_compose(env):
    raise NotImplementedError("compose")
