<?php

namespace Acme;

interface Contract extends \JsonSerializable
{
    public function name(): string;
}
